"""Indian names for the demo school, from across the country."""

BOYS = (
    "Aarav Aditya Advait Akash Alok Aman Amit Anand Anirudh Ankit Arjun Arnav Aryan Ayaan "
    "Bhavesh Chirag Darsh Deepak Dev Dhruv Farhan Gaurav Harsh Hemant Ishaan Jai Kabir "
    "Karan Kartik Krishna Kunal Laksh Madhav Manav Mihir Mohit Naveen Nikhil Om Pranav "
    "Pratik Rahul Raj Rohan Rudra Sahil Sai Samar Sameer Sanjay Shaurya Siddharth Suraj "
    "Tanish Tejas Utkarsh Varun Vedant Vihaan Vikas Vivaan Yash Yuvraj Zaid Imran Arif "
    "Joseph Thomas Gurpreet Harpreet Manpreet Subhash Venkat Ravi Senthil Arun Abhishek"
).split()

GIRLS = (
    "Aadhya Aanya Aditi Ananya Anika Anjali Anushka Avni Bhavya Charvi Deepika Diya Divya "
    "Esha Gauri Gayatri Harini Ira Ishita Jahnvi Kavya Khushi Kiara Lavanya Mahi Meera "
    "Myra Naina Navya Neha Nisha Pari Pooja Prachi Priya Riya Saanvi Sakshi Sanya Sara "
    "Shreya Simran Sneha Tanvi Tara Trisha Vaishnavi Vanya Zara Ayesha Fatima Mary Teresa "
    "Harleen Jasleen Meenakshi Lakshmi Deepa Revathi Shalini Swati Nandini Pallavi Ritika"
).split()

SURNAMES = (
    "Sharma Verma Gupta Singh Kumar Yadav Patel Shah Mehta Joshi Desai Iyer Iyengar Nair "
    "Menon Pillai Reddy Rao Naidu Chowdhury Banerjee Mukherjee Chatterjee Das Bose Sen "
    "Ghosh Dutta Mishra Tiwari Pandey Dubey Shukla Tripathi Agarwal Jain Bansal Goyal "
    "Kapoor Khanna Malhotra Chopra Arora Bhatia Sethi Gill Sandhu Dhillon Kaur Khan "
    "Ahmed Siddiqui Qureshi Ansari D'Souza Fernandes Pereira Thomas Kulkarni Deshpande "
    "Patil Pawar Jadhav Shinde More Naik Hegde Shetty Kamath Bhat Saxena Srivastava"
).split()

FATHERS = (
    "Rajesh Suresh Ramesh Mahesh Dinesh Anil Sunil Vijay Ajay Sanjay Manoj Ashok Prakash "
    "Rakesh Mukesh Naresh Satish Vinod Pradeep Sandeep Rajiv Sameer Imran Salim Joseph "
    "Gurdeep Harish Girish Venkatesh Srinivas Murali Anand Deepak Ravi Kishore Arvind"
).split()

MOTHERS = (
    "Sunita Anita Kavita Savita Geeta Seema Rekha Neeta Meena Poonam Pooja Renu Asha "
    "Usha Lata Shobha Sushma Nirmala Vandana Archana Jyoti Manju Rani Rashmi Preeti "
    "Shabana Nasreen Mary Lakshmi Padma Radha Shanti Uma Vidya Kamala Sarita Anjali"
).split()

TEACHERS = (
    "Kavita Nair|Ramesh Pillai|Anjali Deshpande|Farah Siddiqui|Joseph D'Souza|"
    "Meenakshi Iyer|Harpreet Kaur|Sanjay Kulkarni|Deepa Menon|Arvind Joshi|Shalini Gupta|"
    "Vinod Mishra|Priya Banerjee|Suresh Reddy|Neeta Shah|Gaurav Kapoor|Lata Srivastava|"
    "Imran Qureshi|Revathi Rao|Prakash Jadhav|Swati Bhatia|Mohan Das|Pallavi Hegde|"
    "Rakesh Tiwari|Uma Chatterjee|Girish Patil|Nandini Sen|Ashok Yadav|Ritika Malhotra|"
    "Venkat Naidu|Sarita Pandey|Naveen Shetty|Jyoti Agarwal|Kishore Ghosh|Vidya Kamath|"
    "Satish Chopra|Manju Saxena|Anil Khanna|Padma Bhat|Dinesh Arora"
).split("|")
